from typing import Any

from django.db import models

from credentials.encryption import SealedSecret


class SealedSecretField(models.TextField):
    """Holds a `SealedSecret`: ciphertext that is opened only when asked (`Keyring.open`).

    Loading a row never decrypts, so a list of credentials costs no cryptography and a row
    written under a removed key still loads (and says so when it is opened). Plaintext cannot
    be assigned here by mistake: it must go through `Credential.set_secret`.
    """

    description = "An encrypted secret"

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def from_db_value(
        self, value: str | None, expression: Any, connection: Any
    ) -> SealedSecret | None:
        return None if value is None else SealedSecret.parse(value)

    def to_python(self, value: Any) -> SealedSecret | None:
        if value is None or isinstance(value, SealedSecret):
            return value
        return SealedSecret.parse(str(value))

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, SealedSecret):
            raise TypeError(
                "Store credential secrets with Credential.set_secret(), not by assignment."
            )
        return str(value)

    def value_to_string(self, obj: models.Model) -> str:
        # Serialisation (dumpdata) keeps the ciphertext, never the plaintext.
        value = self.value_from_object(obj)
        return "" if value is None else str(value)
