from setuptools import Extension, setup

setup(ext_modules=[Extension("gradcalc._fastparse", ["gradcalc/_fastparse.c"], optional=True)])
