"""qumri-synth: seeded synthetic TSC and MS cohorts (FLAIR, T2w) on Colin27 anatomy, with lesion masks."""

__version__ = "1.0.0"
GENERATOR = f"qumri-synth {__version__}"
