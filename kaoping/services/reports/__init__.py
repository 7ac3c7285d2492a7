"""The documents: 通报, 报告 and 反馈函 (``documents.build_reports``), the 征求意见稿 letters of
the 异议期 (``provisional``), what each document must disclose (``disclosures``) and the 文号
register (``doc_numbers``)."""
