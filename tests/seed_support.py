"""What a seed module's `run(out)` reported, for the seed tests (seed_demo's own `out` writes to a
terminal instead)."""


class SeedOut:
    def __init__(self):
        self.steps = []
        self.created_items = []
        self.lines = []  # steps and creations in the order they were reported

    def step(self, text):
        self.steps.append(text)
        self.lines.append(text)

    def created(self, text):
        self.created_items.append(text)
        self.lines.append(text)

    @property
    def created_count(self) -> int:
        return len(self.created_items)
