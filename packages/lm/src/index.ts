// Public API of @dnd/lm: everything other packages may use is exported here by name.
