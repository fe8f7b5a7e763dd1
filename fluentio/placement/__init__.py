"""The five-minute placement call: its analysis (a CEFR level with evidence), the
`placements` table's service, and the states behind the classroom's offer and the lesson
page's "Use B1" / "Keep my level"."""
