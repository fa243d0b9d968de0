// Public API of @dnd/dataset: everything other packages may use is exported here by name.
