"""Memory of the intake on hostile and large files (issue 14, item 6): peak RSS, each case in a
process of its own (``resource.getrusage``), on SQLite.

* **bomb**: the under-limit bomb — an 0.8 MB .docx within every size limit (under 20 MB packed,
  under 200 MB unpacked, under 100× compression thanks to incompressible padding) whose
  document.xml is 12 million empty paragraphs; python-docx expanded it to 1.47 GB. Taken
  through ``receive`` (the CLI's and the flow's path): refused while streaming, and kept.
* **near-cap**: the same shape just under the element limit (2.9 million elements), which the
  checks let through to the table reader.
* **largest form**: a scoring sheet of 18,000 rows × 7 cells (1.5 million elements, more than
  the largest sheet of the 600-unit province), through the checks and the table reader.

Target: under 300 MB for any file.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _bomb(paragraphs: int) -> bytes:
    import io
    import zipfile

    document = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                + b"<w:p/>" * paragraphs + b"</w:body></w:document>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                                                b'package/2006/content-types"/>')
        archive.writestr("word/document.xml", document)
        archive.writestr("word/media/image1.png", os.urandom(len(document) // 95), compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


def _largest_form(rows: int) -> bytes:
    import io

    from kaoping.adapters.word import form_page, layout

    document = form_page.form_document(landscape=True)
    import hashlib

    def text(i: int) -> str:  # varied like real answers (identical rows would compress like a bomb)
        h = hashlib.sha256(str(i).encode()).hexdigest()
        return f"已开通全程网办事项 {int(h[:4], 16)} 项，编号 {h[4:20]}。适老化改造完成 {int(h[20:22], 16)} 个网站。"

    body = [[str(i % 90 + 1), "0.5", f"单位{i % 600}", text(i), "完成", f"0.{i % 50:02d}", h if (h := text(-i)) and i % 3 else ""]
            for i in range(rows)]
    layout.table(document, ["指标编号", "指标分值", "被考评单位", "自评完成情况", "自评完成进度", "得分", "扣分说明"], body,
                 widths_mm=[14, 22, 30, 100, 25, 20, 50], shaded_columns=(0, 1, 2, 3, 4))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


CASES = {"bomb": lambda: _bomb(12_000_000), "near-cap": lambda: _bomb(2_900_000), "largest-form": lambda: _largest_form(18_000)}


def case(path: Path, workdir: Path) -> dict:
    """One case, in this process, on a file made beforehand by another: returns the figures."""
    from kaoping import db
    from kaoping.adapters.uploads import check_office_zip, read_upload
    from kaoping.adapters.word.package import read_tables
    from kaoping.domain.errors import InvalidInput
    from kaoping.services.returns.intake import receive
    from kaoping.settings import Settings

    name = path.stem
    base = _peak_mb()
    upload = read_upload(path)
    data = upload.data
    outcome = ""
    if name == "bomb":
        s = Settings(database_url=f"sqlite:///{workdir / 'bench.sqlite3'}", var_dir=workdir / "var", _env_file=None)
        db.upgrade(s)
        received = receive(s, upload, channel="cli")
        outcome = "refused: " + received.reason.split("，")[0] if not received.accepted else "accepted?!"
    else:
        try:
            check_office_zip(upload)
            tables = read_tables(data)
            outcome = f"read {sum(len(t.rows) for t in tables)} table rows"
        except InvalidInput as exc:
            outcome = "refused: " + str(exc).split("，")[0]
    return {"case": name, "packed_kb": round(len(data) / 1024), "peak_rss_mb": round(_peak_mb(), 1),
            "before_mb": round(base, 1), "outcome": outcome}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--case":
        with tempfile.TemporaryDirectory() as workdir:
            print("RESULT " + json.dumps(case(Path(sys.argv[2]), Path(workdir)), ensure_ascii=False))
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--make":
        Path(sys.argv[2]).write_bytes(CASES[Path(sys.argv[2]).stem]())
        return
    print("Intake memory: peak RSS per case, each in its own process (target < 300 MB)")
    results = []
    folder = Path(tempfile.mkdtemp(prefix="kaoping-intake-memory-"))
    for name in CASES:
        path = folder / f"{name}.docx"
        subprocess.run([sys.executable, "-m", "benchmarks.intake_memory", "--make", str(path)], check=True)
        output = subprocess.run([sys.executable, "-m", "benchmarks.intake_memory", "--case", str(path)], capture_output=True,
                                text=True, check=True, env=os.environ.copy()).stdout
        path.unlink()
        result = json.loads(next(line for line in output.splitlines() if line.startswith("RESULT "))[7:])
        results.append(result)
        print(f"{name:13} {result['packed_kb']:>6} KB  peak RSS {result['peak_rss_mb']:7.1f} MB "
              f"(imports alone {result['before_mb']:.1f} MB)  {result['outcome']}")
    print("RESULT " + json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
