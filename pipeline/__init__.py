"""storycast: publish community podcasts and video stories exactly as contributors edited them."""

__version__ = "0.1.0"
