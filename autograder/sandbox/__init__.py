"""Running untrusted notebooks: isolation layers, the local pool of pristine forking workers,
the in-sandbox runner."""
