"""Real-data benchmark (`make bench-real`, `crm evaluate real`): the whole platform on the public CDNOW
transaction log, against the classical baselines, on the same out-of-time split."""
