"""Send the read-model app to the read database and everything else to the write database."""

READ_APPS = frozenset({"readmodels"})
READ_ALIAS = "read"
WRITE_ALIAS = "default"


class ReadModelRouter:
    def _alias_for(self, app_label: str) -> str:
        return READ_ALIAS if app_label in READ_APPS else WRITE_ALIAS

    def db_for_read(self, model, **hints):
        return self._alias_for(model._meta.app_label)

    def db_for_write(self, model, **hints):
        return self._alias_for(model._meta.app_label)

    def allow_relation(self, obj1, obj2, **hints):
        return self._alias_for(obj1._meta.app_label) == self._alias_for(obj2._meta.app_label)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == self._alias_for(app_label)
