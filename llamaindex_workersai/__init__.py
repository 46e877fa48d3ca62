"""LlamaIndex integration for Cloudflare Workers AI and Vectorize (in progress)."""
