"""What we report: statistics queries and exports."""
