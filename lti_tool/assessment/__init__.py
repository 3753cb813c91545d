"""The summative case-study assessment, engagement and the outcomes report (see
docs in the package's module docstrings and the packs' assessment.yaml).

The blueprint is `lti_tool.assessment.views.bp`; importing it registers the assessment's catalogue
items (Deep Linking), where its placements open, and its tables (lti_tool.assessment.models)."""
