"""Tests of the experiment scripts and of the shipped bundles."""
