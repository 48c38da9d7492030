"""One module per accounting system behind one Protocol (``base.Connector``)."""
