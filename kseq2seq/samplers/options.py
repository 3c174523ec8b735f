"""`sampler_from_options`: `Translator.translate`'s decoding keyword arguments as a sampler."""

from __future__ import annotations

from kseq2seq.checks import check_number
from kseq2seq.samplers import NAMES, get
from kseq2seq.samplers.sampler import Sampler

# The keyword arguments of `translate` each sampler name takes.
SAMPLER_OPTIONS = {
    "greedy": ("length_penalty", "coverage_penalty"),  # beam_width=1 is greedy
    "beam": ("beam_width", "length_penalty", "coverage_penalty"),
    "random": ("temperature", "seed"),
    "top_k": ("top_k", "temperature", "seed"),
    "top_p": ("top_p", "top_k", "temperature", "seed"),
}
RENAMED = {"top_k": "k", "top_p": "p", "beam_width": "num_beams"}


def sampler_from_options(sampler=None, **options) -> Sampler:
    """The sampler that `Translator.translate`'s arguments describe.

    Args:
        sampler: a `Sampler` (then no keyword argument), a name for `kseq2seq.samplers.get`
            configured by the keyword arguments, or None: what they ask for, else greedy.
        **options: the keyword arguments of `SAMPLER_OPTIONS`, None meaning not given:
            `beam_width` > 1: `BeamSampler(num_beams=...)`; 1: greedy.
            `length_penalty`, `coverage_penalty`: alpha (default 0.6) and beta (default 0)
            of beams.
            `temperature`, `top_k`, `top_p`, `seed`: sample instead: `TopPSampler` when
            `top_p` is given, else `TopKSampler` with `top_k`, else `RandomSampler`.
            Sampling and beams do not combine (ValueError).

    Raises:
        TypeError: a keyword argument that is none of these.
    """
    unknown = sorted(set(options) - {name for names in SAMPLER_OPTIONS.values() for name in names})
    if unknown:
        raise TypeError(f"Unexpected decoding keyword argument(s) {unknown}")
    given = {name: options[name] for name in sorted(options) if options[name] is not None}
    if isinstance(sampler, Sampler):
        if given:
            raise ValueError(
                f"Give either a Sampler or the keyword arguments {sorted(given)}, not both"
            )
        return sampler
    width = given.get("beam_width", 1)
    check_number("beam_width", width, low=1, integer=True)
    if width == 1:
        given.pop("beam_width", None)
    if sampler is None:
        drawn = [name for name in ("top_p", "top_k") if name in given]
        sampled = drawn[0] if drawn else "random" if "temperature" in given else None
        sampler = sampled or ("beam" if width > 1 else "greedy")
    if sampler not in NAMES:
        get(sampler)  # raises, naming the valid ones
    for name in given:
        if name not in SAMPLER_OPTIONS[sampler]:
            what = "beam search" if name in SAMPLER_OPTIONS["beam"] else "sampling"
            raise ValueError(
                f"{name} applies only to {what} (give temperature, top_k or top_p to sample, "
                f"beam_width > 1 for beams; the two do not combine), not to sampler={sampler!r}. "
                f"Received: {name}={given[name]!r}"
            )
    if sampler == "greedy":  # the beam penalties are allowed, and mean nothing
        given = {}
    try:
        return NAMES[sampler](**{RENAMED.get(name, name): value for name, value in given.items()})
    except ValueError as error:  # name the keyword the caller gave
        argument = str(error).split(" ", 1)[0]
        keyword = {new: old for old, new in RENAMED.items()}.get(argument, argument)
        raise ValueError(f"{keyword}: {error}") from None
