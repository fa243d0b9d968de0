// Public API of @dnd/encoder: everything other packages may use is exported here by name.
