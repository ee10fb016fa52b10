"""The commands whose work takes a whole Project (one module each): changes, doctor."""
