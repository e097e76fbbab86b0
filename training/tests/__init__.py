"""Tests of the training pipeline (run by `npm run test:py`)."""
