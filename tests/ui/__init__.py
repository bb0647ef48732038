"""Tests of the Gradio UI: handlers against a real desk, and the page in headless Chromium."""
