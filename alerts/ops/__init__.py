"""Operations alerts: built-in checks (SLA, workload, unassigned, payment failures), custom
alert rules (event, threshold, time), daily summaries and data retention.

Layout: ``models`` (data), ``schemas`` (the documented JSON schema of rule definitions),
``conditions`` (condition language and safe templates), ``schedule`` (cron in a time zone),
``rules`` (the rule engine), ``checks`` (built-in alerts), ``services`` (writes),
``selectors`` (reads that authorize), ``summaries``, ``retention``, ``tasks``, ``apis``.
"""
