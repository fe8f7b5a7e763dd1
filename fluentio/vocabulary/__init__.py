"""Words that carry between lessons: what the recogniser found unclear, and the learner's
spaced-repetition deck (FSRS)."""
