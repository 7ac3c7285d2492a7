"""Where kaoping's packages live (the metadata is in pyproject.toml).

The repository's top level shows the parts of the system by name — ``flows/``, ``models/``,
``notifications/``, ``templates/`` — but they install inside the ``kaoping`` package
(``kaoping.flows`` …), so nothing kaoping installs takes a common top-level name
(``models``, ``flows``, ``templates``) in site-packages. A built wheel also carries
``prefect.yaml`` (as ``kaoping/prefect.yaml``), so an installed kaoping can register its
deployments: their entrypoints (``flows/cycle.py:…``) resolve from the folder that holds
``flows/`` — the checkout, or the installed ``kaoping`` package.
"""

from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

FOLDERS = {
    "kaoping": "kaoping",
    "kaoping.flows": "flows",
    "kaoping.models": "models",
    "kaoping.notifications": "notifications",
    "kaoping.templates": "templates",
}


class BuildWithDeployments(build_py):
    def run(self):
        super().run()
        if not self.editable_mode:
            self.copy_file("prefect.yaml", str(Path(self.build_lib) / "kaoping" / "prefect.yaml"))


# Every folder under them, data folders too (kaoping/data/catalogs, templates/email …): setuptools
# ships what is in a package, and the package-data patterns in pyproject.toml say which files.
packages = []
for name, folder in FOLDERS.items():
    packages += [name] + [f"{name}.{sub}" for sub in find_namespace_packages(folder, exclude=["*__pycache__*"])
                          if f"{name}.{sub}" not in FOLDERS]

setup(packages=packages, package_dir=FOLDERS, cmdclass={"build_py": BuildWithDeployments})
