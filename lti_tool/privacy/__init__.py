"""Personal data under UK GDPR: the data inventory, subject access, erasure, retention and the
privacy notice. The provider is the controller; this tool is its processor."""
