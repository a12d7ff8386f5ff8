"""What we say: 普法 articles — library files, loading, validation, Jinja2 rendering."""
