"""Route families of the lab server, one module each."""
