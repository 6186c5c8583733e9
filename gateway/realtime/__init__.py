"""Live group workout sessions over WebSocket, shared between gateway instances through Redis."""
