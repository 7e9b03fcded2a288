"""Failed requests, answered as meta/v1 Status objects as kube-apiserver does."""


class ApiError(Exception):
    """A failed request, answered as a meta/v1 Status as kube-apiserver does."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def _details(res, name):
    details = {"name": name, "kind": res.plural}
    if res.group:
        details["group"] = res.group
    return details


def not_found(res, name):
    return ApiError(404, "NotFound", f'{res.qualified} "{name}" not found', _details(res, name))


def already_exists(res, name):
    return ApiError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists',
                    _details(res, name))


def conflict(res, name, why="the object has been modified; please apply your changes "
             "to the latest version and try again"):
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} '
                    f'"{name}": {why}', _details(res, name))


def unknown_path():
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def invalid(res, name, field, why):
    return ApiError(422, "Invalid", f'{res.kind} "{name}" is invalid: {field}: {why}',
                    dict(_details(res, name), causes=[{"reason": "FieldValueInvalid",
                                                       "message": why, "field": field}]))


def gone(message):
    return ApiError(410, "Expired", message)


def too_large(rv, current):
    return ApiError(504, "Timeout", f"Too large resource version: {rv}, current: {current}",
                    {"causes": [{"reason": "ResourceVersionTooLarge",
                                 "message": "Too large resource version"}],
                     "retryAfterSeconds": 1})
