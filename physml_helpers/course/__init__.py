"""Course tooling: exercise generation and packs (:mod:`.assign`), answer checks (:mod:`.checks`)."""
