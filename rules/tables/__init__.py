"""API knowledge as data tables, one module per rule family. Names are canonical qualified names
(`lint_eps.imports.canonical`): `tf.keras.backend.log`, `tf_keras.backend.log` and `keras.backend.log` are all
`keras.backend.log`. Sources: `shared/reference/ml-api-facts.md` (section named next to each table)."""
