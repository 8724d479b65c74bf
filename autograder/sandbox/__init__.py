"""Running untrusted notebooks: isolation layers, the pristine forking worker, the in-sandbox runner."""
