"""QuMRI training pipeline: torch statevector simulator, models, training, evaluation, bundle export."""
