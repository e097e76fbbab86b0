"""QuMRI experiments: synthetic cohorts -> training runs -> evaluation -> shipped bundles -> docs/results.md."""
