"""An import-linter contract type: no import cycle between the modules of a package (function-level imports
count too). `acyclic_siblings` compares packages; this compares modules, so routes of one package may use
operations of another while no two modules ever need each other."""
from __future__ import annotations

from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class AcyclicModulesContract(Contract):
    type_name = "acyclic_modules"
    root = fields.StringField()

    def check(self, graph, verbose: bool) -> ContractCheck:
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        cycles: list[list[str]] = []

        def visit(module: str) -> None:  # Tarjan's strongly connected components
            index[module] = low[module] = len(index)
            stack.append(module)
            for imported in graph.find_modules_directly_imported_by(module):
                if imported not in index:
                    visit(imported)
                    low[module] = min(low[module], low[imported])
                elif imported in stack:
                    low[module] = min(low[module], index[imported])
            if low[module] == index[module]:
                component = stack[stack.index(module):]
                del stack[stack.index(module):]
                if len(component) > 1:
                    cycles.append(sorted(component))

        for module in sorted(m for m in graph.modules if m.startswith(str(self.root))):
            if module not in index:
                visit(module)
        return ContractCheck(kept=not cycles, warnings=[], metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error("These modules import each other: " + " ⇄ ".join(cycle))
            output.new_line()
