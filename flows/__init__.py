"""The Prefect flows (the entrypoints prefect.yaml names) and the tasks that wrap the services:
``cycle.half_year_cycle`` (开启半年考评 and every later step), ``daily.intake`` and
``daily.reminders`` (收件录入, 每日催报), ``annual.annual`` (年度考评)."""
