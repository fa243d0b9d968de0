// Public API of @dnd/decoder: everything other packages may use is exported here by name.
