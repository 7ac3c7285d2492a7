"""Field visits (实地调研): teams (``schedule.import_teams``), the plan on working days
(``schedule.plan_visits``, ``confirm_visits``, ``move_visit``) with calendar invitations."""
