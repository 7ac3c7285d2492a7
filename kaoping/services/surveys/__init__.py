"""Public-opinion survey results (民意调查): a survey platform's export read into 0–100 scores
per unit (``opinion.import_outside_results``)."""
