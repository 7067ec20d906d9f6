"""Teachers: the checkpoint format, tolerant loading, and supervised training."""

from dfkd.teachers.load import TeacherLoadError, TeacherRequest, extract_state_dict, load_teacher
from dfkd.teachers.record import FORMAT, TeacherInfo, save_teacher, weights_sha256

__all__ = [
    "FORMAT",
    "TeacherInfo",
    "TeacherLoadError",
    "TeacherRequest",
    "extract_state_dict",
    "load_teacher",
    "save_teacher",
    "weights_sha256",
]
