"""The VM-side client: fetches an agent's credential from the control plane and starts the agent.

Standard library only: it runs inside bare VMs where nothing but Python is installed.
"""

__version__ = "0.1.0"
