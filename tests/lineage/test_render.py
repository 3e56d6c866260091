from datawheel.lineage import Edge, Graph, Node, render_graph, to_dot, to_mermaid, to_text

_GRAPH = Graph(
    "a3",
    "upstream",
    (
        Node("a3", "dataset_version", "sms@2"),
        Node("a2", "dataset_version", "sms@1"),
        Node("a1", "file", '/d/"odd" name.tsv'),
        Node("e2", "execution", "clean", properties={"execution": 2, "status": "completed"}),
        Node("e1", "execution", "ingest", properties={"execution": 1, "status": "completed"}),
    ),
    (
        Edge("a1", "e1", "input"),
        Edge("e1", "a2", "output"),
        Edge("a2", "e2", "input"),
        Edge("e2", "a3", "output"),
    ),
)


def test_text_tree() -> None:
    assert to_text(_GRAPH).splitlines() == [
        "sms@2",
        "└── clean (execution #2, completed)",
        "    └── sms@1",
        "        └── ingest (execution #1, completed)",
        '            └── file /d/"odd" name.tsv',
    ]


def test_dot_escapes_and_shapes() -> None:
    dot = to_dot(_GRAPH)
    assert dot.startswith("digraph lineage {")
    assert 'a1 [label="file /d/\\"odd\\" name.tsv", shape=box];' in dot
    assert "e1 [label=" in dot
    assert "shape=ellipse" in dot
    assert "a1 -> e1;" in dot


def test_mermaid() -> None:
    text = to_mermaid(_GRAPH)
    assert text.splitlines()[0] == "flowchart LR"
    assert "  e2 --> a3" in text
    assert "#quot;odd#quot;" in text


def test_downstream_tree_and_repeats() -> None:
    diamond = Graph(
        "a1",
        "downstream",
        (
            Node("a1", "file", "f"),
            Node("a2", "dataset_version", "x@1"),
            Node("e1", "execution", "split", properties={"execution": 1, "status": "completed"}),
            Node("e2", "execution", "merge", properties={"execution": 2, "status": "failed"}),
            Node("a3", "dataset_version", "y@1"),
        ),
        (
            Edge("a1", "e1", "input"),
            Edge("e1", "a2", "output"),
            Edge("e1", "a3", "output"),
            Edge("a2", "e2", "input"),
            Edge("a3", "e2", "input"),
        ),
    )
    lines = to_text(diamond).splitlines()
    assert lines[0] == "file f"
    assert any("merge (execution #2, failed) (see above)" in line for line in lines)
    assert render_graph(diamond, "json").startswith("{")
