"""Functions as faasbox knows them: the view everyone reads (`view.py`) and the loop
that keeps it current from the engine's events (`sync.py`)."""
