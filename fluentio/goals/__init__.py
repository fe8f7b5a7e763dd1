"""A weekly minutes goal, a streak of practice days in the learner's own time zone, and an
optional email reminder when the week's goal is at risk."""
