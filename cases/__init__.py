"""What we say: 以案说法 case explanations — library files, loading, validation, rendering."""
