"""After the conversation: analysis jobs, "hear it" speech, and what feeds back into class."""
