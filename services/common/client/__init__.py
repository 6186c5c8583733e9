"""What a command-line client of the gateway needs: HTTP, the one error shape, retries."""
