"""What learners can take with them: their data as one downloadable archive."""
