"""Distillation methods: what one round does, as small functions over the shared engine.

* ``onestage`` -- ``student_steps - 1`` student-only updates, then one joint update of student and generator
  from one forward and one backward pass (the paper's Section 4.4; with ``student_steps=1`` every update is
  joint).
* ``dfad`` -- DFAD (Fang et al. 2019): ``student_steps`` (5) student updates on fresh detached fakes, then
  one generator update on a fresh batch against the updated student.
* ``zskt`` -- ZSKT (Micaelli & Storkey 2019): one generator update, then ``student_steps`` (10) student updates
  on the same z. The published loop re-runs the generator and keeps the teacher's outputs for the student
  steps; here the batch is generated once and one teacher pass on it (without gradient) is handed to every
  student step -- numerically the same (neither generator nor teacher changes between student steps), and
  it is ZSKT's own saving: two teacher forwards per round (the generator update's and this one), whatever
  ``student_steps``.
* ``noise`` -- the control: student updates on batches of a fixed pool of random inputs, labelled once by the
  teacher; the generator is never trained.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from dfkd.distill.teacher_pass import TeacherPass
from dfkd.engine import AdversarialBatch, AdversarialEngine, StepStats, one_stage_round, two_stage_round
from dfkd.registry import Registry


@dataclass
class RoundContext:
    """What a method works with. ``teacher_pass(x)``: the teacher's pass on ``x`` without gradient, for
    student-only steps on that very batch to reuse (``engine.critic_step(batch, x, precomputed=...)``)."""

    engine: AdversarialEngine
    teacher_pass: Callable[[Tensor], TeacherPass]
    draw: Callable[[], AdversarialBatch]
    student_steps: int
    noise: Callable[[], tuple[Tensor, TeacherPass | None]]


Method = Callable[[RoundContext], list[StepStats]]
METHODS: Registry[Method] = Registry("distillation method")


@METHODS.register("onestage")
def onestage(ctx: RoundContext) -> list[StepStats]:
    return one_stage_round(ctx.engine, ctx.draw, critic_steps=ctx.student_steps)


@METHODS.register("dfad")
def dfad(ctx: RoundContext) -> list[StepStats]:
    return two_stage_round(ctx.engine, ctx.draw, critic_steps=ctx.student_steps, reuse_fake=False)


@METHODS.register("zskt")
def zskt(ctx: RoundContext) -> list[StepStats]:
    batch = ctx.draw()
    stats = [ctx.engine.generator_step(batch)]
    fake = ctx.engine.generate(batch)
    teacher = ctx.teacher_pass(fake)
    stats += [ctx.engine.critic_step(batch, fake=fake, precomputed=teacher) for _ in range(ctx.student_steps)]
    return stats


@METHODS.register("noise")
def noise(ctx: RoundContext) -> list[StepStats]:
    batch = ctx.draw()  # its z is unused: only the pool's images are trained on
    stats = []
    for _ in range(ctx.student_steps):
        images, teacher = ctx.noise()
        stats.append(ctx.engine.critic_step(batch, fake=images, precomputed=teacher))
    return stats
