"""Reference data a cycle is opened from: the unit registry (``registry``), catalogs of indicators
(``catalog``), who undertakes what (``responsibilities``), contacts (``contacts.unit_contacts``),
the Chinese working-day calendar (``workdays.WorkCalendar``) and ``setup.initialize`` (``kaoping init``)."""
