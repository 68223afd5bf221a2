"""Initialisation explorer: what a scheme does to the weights, and to activations and gradients through depth."""

from functools import partial

import streamlit as st

from inspector.init.charts import DepthMetric, depth_figure, histogram_figure
from inspector.init.models import DEEP_MODELS, SMALL_HF, model_names, nonlinearity_for
from inspector.init.report import InitComparison, compare_with_default
from inspector.init.schemes import SCHEMES, BiasInit, FanMode, InitScheme, Nonlinearity, parse_argument
from inspector.model.hf import PREFIX, shelf
from models import ZOO
from models.deep import ActivationFunction
from ui.errors import attempt, show_problems
from ui.query import changed_settings, init_choice, init_parsed, init_whole_number, write_url
from ui.state import fixed_tr, lang, plain, tr, tr_text

CHOICES = {"mode": list(FanMode), "nonlinearity": list(Nonlinearity)}
AUTO = "auto"  # no --bias: zeros, or PyTorch's default under the default scheme
DEFAULTS: dict[str, object] = {"model": "deep_mlp", "scheme": InitScheme.KAIMING_NORMAL.value, "activation": "relu"}
DEFAULTS |= {"bias": AUTO, "depth": 20, "width": 256, "channels": 16, "seed": 0, "batch": 16}
WHOLE = {"depth": (1, 100), "width": (1, 1024), "channels": (1, 1024), "seed": (0, 2**31 - 1), "batch": (1, 256)}
problems: list[str] = []
# The zoo's GPTs are left out (16 × 1024 tokens take minutes on a CPU); the shelf's small hf: configs run
# one sequence of 128 tokens (or one image). The 7B–8B configs are refused: init needs real weights.
MODELS = [*model_names(skip_families=("transformer",)), *(f"{PREFIX}{name}" for name in SMALL_HF)]
named = {"model": MODELS, "scheme": [str(s) for s in InitScheme]}
named |= {"activation": [str(a) for a in ActivationFunction], "bias": [AUTO, *(str(b) for b in BiasInit)]}
for name, options in named.items():  # a link opens the exploration it was copied from
    init_choice(f"init_{name}", name, options, str(DEFAULTS[name]), problems)
for name, (low, high) in WHOLE.items():
    init_whole_number(f"init_{name}", name, int(DEFAULTS[name]), low, high, problems)


def argument_default(name: str, default: float | str | None) -> float | str:
    """Return where a scheme argument's widget starts: torch's default, except the gain's nonlinearity,
    which follows the network's activation (and constant's value, which torch leaves to the caller)."""
    if name == "nonlinearity":
        return nonlinearity_for(st.session_state["init_activation"])
    return 0.1 if default is None else default


for scheme, info in SCHEMES.items():  # one widget per scheme and argument: each keeps its own value
    for name, default in info.arguments:
        key, start = f"init_{scheme}_{name}", argument_default(name, default)
        if scheme == st.session_state["init_scheme"]:  # a link carries the arguments of its scheme
            init_parsed(key, name, start, partial(parse_argument, name), problems)
        st.session_state.setdefault(key, start)


def follow_activation() -> None:
    """Set every scheme's `nonlinearity` to the gain of the activation just chosen."""
    for scheme, info in SCHEMES.items():
        if any(name == "nonlinearity" for name, _ in info.arguments):
            st.session_state[f"init_{scheme}_nonlinearity"] = nonlinearity_for(st.session_state["init_activation"])


@st.cache_data(max_entries=16, show_spinner=False)
def explore(
    model: str, options: tuple, scheme: str, arguments: tuple, bias: str | None, seed: int, batch: int | None
) -> InitComparison:
    return compare_with_default(
        model, scheme, options=dict(options), seed=seed, batch=batch, bias=bias, **dict(arguments)
    )


st.title(tr("init.title"))
st.caption(tr("init.intro"))
show_problems(problems)
left, right = st.columns(2)
with left:
    tr_now = fixed_tr()  # format_func runs again outside the session in AppTest
    model = st.selectbox(
        tr("init.model"),
        MODELS,
        key="init_model",
        help=tr("init.model_help"),
        format_func=lambda name, tr=tr_now: (
            shelf()[name.removeprefix(PREFIX)].title  # a model's own name, the same in every language
            if name.startswith(PREFIX)
            else tr(f"zoo.{name}.title")
            if name in ZOO
            else tr(f"init_model.{name}")
        ),
    )
    options = {}
    if model in DEEP_MODELS:
        width_name = "width" if model == "deep_mlp" else "channels"
        options["depth"] = st.number_input(tr("init.depth"), *WHOLE["depth"], key="init_depth")
        options[width_name] = st.number_input(tr(f"init.{width_name}"), *WHOLE[width_name], key=f"init_{width_name}")
        options["activation"] = st.selectbox(
            tr("init.activation"), list(ActivationFunction), key="init_activation", on_change=follow_activation
        )
    if model.startswith(PREFIX):  # a batch of 16 × 128 tokens would pass the memory one run may use
        batch = None
        st.caption(tr("init_hf.input"))
    else:
        batch = st.number_input(tr("init.batch"), *WHOLE["batch"], key="init_batch")
    seed = st.number_input(tr("init.seed"), *WHOLE["seed"], key="init_seed")
with right:
    scheme = st.selectbox(tr("init.scheme"), list(InitScheme), key="init_scheme", help=tr("init.scheme_help"))
    arguments = {}
    for name, _default in SCHEMES[InitScheme(scheme)].arguments:
        key = f"init_{scheme}_{name}"
        if name in CHOICES:
            arguments[name] = st.selectbox(name, CHOICES[name], key=key)
        else:
            arguments[name] = st.number_input(name, key=key, format="%g", step=0.01)
    bias = st.selectbox(
        tr("init.bias"),
        [AUTO, *BiasInit],
        key="init_bias",
        format_func=lambda value, tr=tr_now: tr(f"init.bias_{value}"),
    )

settings = {"model": model, "scheme": scheme, "bias": bias, "seed": int(seed)}
settings |= {} if batch is None else {"batch": int(batch)}
settings |= {name: int(value) if isinstance(value, int) else value for name, value in options.items()}
settings |= {name: str(value) if name in CHOICES else float(value) for name, value in arguments.items()}
argument_defaults = {name: argument_default(name, default) for name, default in SCHEMES[InitScheme(scheme)].arguments}
write_url(changed_settings(settings, DEFAULTS | argument_defaults))  # before a failed run stops the script

result = attempt(
    explore,
    model,
    tuple(sorted(options.items())),
    scheme,
    tuple(arguments.items()),
    None if bias == AUTO else str(bias),
    int(seed),
    None if batch is None else int(batch),
)
if result is None:
    st.stop()

st.caption(" · ".join([tr("init.loss", loss=result.chosen.loss), *(tr_text(note) for note in result.chosen.notes)]))
st.subheader(tr("init.depth_heading"))
st.caption(tr("init.depth_caption"))
for column, metric in zip(st.columns(2), DepthMetric, strict=True):
    column.plotly_chart(depth_figure(result.chosen, result.default, metric, lang()))


@st.fragment
def histogram(result: InitComparison) -> None:
    """One layer's weights against the scheme's theory; choosing another layer reruns only this."""
    st.subheader(tr("init.histogram_heading"))
    layers = {layer.name: layer for layer in result.chosen.initialised_layers()}
    shown = st.selectbox(tr("init.histogram_layer"), list(layers), key="init_histogram_layer")
    layer = layers.get(shown) or next(iter(layers.values()))
    st.plotly_chart(histogram_figure(layer, lang()))
    st.markdown(
        tr(
            "init.formula",
            formula=plain(layer.theory.formula),
            mean=f"{layer.weight_mean:.4g}",
            std=f"{layer.weight_std:.4g}",
        )
    )


histogram(result)

st.subheader(tr("init.code_heading"))
st.code(result.code, language="python")
with st.expander(tr("init.table_heading")):
    st.dataframe(
        [{k: v for k, v in row.to_dict().items() if k not in ("theory", "histogram")} for row in result.chosen.layers]
    )
