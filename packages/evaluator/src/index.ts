// Public API of @dnd/evaluator: everything other packages may use is exported here by name.
